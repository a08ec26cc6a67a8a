"""Tests of the command side: pure rate-limit rules, modules, references, arc seams."""
