"""One parser per billing format. Each turns a file into normalized pandas chunks (see base)."""
