"""Administrator use-cases (init, import/export, serving, user management) over the directory."""
