"""Critical appraisal as pure decision rules: CEBM 2009, RoB 2, ROBINS-I, NOS, GRADE."""


class AppraisalError(ValueError):
    """A required answer is missing or invalid; the message names the tool, domain and question."""
