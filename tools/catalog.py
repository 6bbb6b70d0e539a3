"""The explicit list of tool modules, in the order their tools are listed everywhere."""

from tools import accounts, audit, tasks, templates

MODULES = (accounts, templates, tasks, audit)
