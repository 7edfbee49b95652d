"""The verrijkte opinie as a PDF, and the printable blank form.

The renderer takes plain data and gives bytes, without Flask:
`contract` (what it is given), `build.compile_document` (the entry point),
`labels`, `styles`, `flowables`, `columns`, `markdown`, `pages` (its seams),
`typography` and `line_rule` (shared with the signing form: the ten-line
rule is decided by the very paragraph the document prints), `paper_form`
(the blank paper form). `store` is the database side: the data of a letter,
compiled documents kept per revision, the background compile.
"""
