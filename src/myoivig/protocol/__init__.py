"""IVIg protocol engine: dosing weight, dose and vial plan, infusion titration, safety checks,
course schedule and continuation advice.

Everything here is a pure rule over plain data; the store, the CLI and the web call it.
"""
