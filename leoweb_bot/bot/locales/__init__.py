"""String catalogues, one module per language, each a dict from key to a Telegram HTML
template. ``bot.texts`` reads them; nothing else should. Imports nothing."""
