"""The service desk's rules, as plain functions the API, views, email intake and engine share."""
