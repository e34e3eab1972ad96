"""Rendering: facts in, words and files out (catalog text, pictures, workbooks).

The same text for every channel; each adapter adds its own buttons.
"""
