"""The service desk's web pages: the portal, the ticket page and the agent console."""
