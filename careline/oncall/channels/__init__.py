"""How each kind of message leaves CareLine: one module per channel family.

`email` (SMTP), `gateway` (SMS and voice through an HTTP gateway: Twilio's API or a JSON
template), `chat` (Slack and Microsoft Teams incoming webhooks) and `webhook` (a generic JSON
receiver, signed with HMAC); `base` judges an attempt's outcome and `targets` reads a
delivery target's secrets. `config` holds the checks settings.py runs at start-up, so it
imports nothing of Django.
"""
