"""Each role's home page ("what needs me today") and the e-mail digests built from it."""
