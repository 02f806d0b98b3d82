"""Tests of the directory core; a package so the tests can share the reference evaluator."""
