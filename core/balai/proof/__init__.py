"""Proofs that can fail: the cross-tenant sweep (:mod:`balai.proof.sweep`) and the
checks of one installed plugin (:mod:`balai.proof.plugin`), public so that a plugin's
own test suite and ``balai plugins check`` run what the core's proof harness runs."""
