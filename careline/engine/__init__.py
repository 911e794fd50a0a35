"""`careline engine`: the asyncio process that hosts CareLine's background loops."""
