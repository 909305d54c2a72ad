"""The theme brief: what an issue, the sprint plan and the report say about one theme, worded once.

A package of its own, beside the stages rather than inside one: the plan (Markdown for grooming), sync
(the managed section of GitHub and Jira issues) and the report (HTML and Markdown) all show the same
brief, and none of them may own the others' formats. `document` is the small format-free model,
`wording` the only place its words are chosen, and `markdown`, `jira_wiki` and `html` the emitters,
each with the one escaper of its format. Depends on `plan.model` (and `report.loop` for verdicts) only.
"""
