"""Accounts, roles and sites: who may use myoivig and which patients they may see."""
