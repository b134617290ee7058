"""The bundled sample marketplace: a catalog of trucks rendered into each source's real markup.

Page templates keep their source lines within 100 characters: a backslash at the end of a
template line continues the same line of the page.
"""
