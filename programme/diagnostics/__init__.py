"""In-situ diagnostics: campaigns, observation sessions and findings, organisational
determinants, customer voice, irritants and the synthesis."""
