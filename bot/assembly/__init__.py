"""Assembly: where the parts are put together -- settings, the clock, the Telegram
Application, the inbox, the webhook, the consoles and the ``leadbot`` CLI.
"""
