"""One module per endpoint; each opens with the spec sections it implements."""
