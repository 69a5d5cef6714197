"""Open Badges 3.0 credentials: sign and verify Data Integrity proofs, offline.

`multibase` (keys and signatures as base58btc multibase), `signing` (JSON-LD contexts,
canonicalization, `sign`) and `verification` (`verify_credential`).

Pure functions, no database: `portal.credentials` builds this product's credentials and adds
what only the database knows (revocation); `verify_credential` here checks any OB 3.0
credential the way the 1EdTech validator does, minus the network.

Signing follows the `eddsa-rdfc-2022` cryptosuite (W3C VC Data Integrity EdDSA): canonicalize the
credential without its proof and the proof options (with the credential's `@context`) with
RDFC-1.0 (URDNA2015), hash each with SHA-256, sign `hash(proof options) + hash(credential)`
with Ed25519, and store the signature as base58btc multibase in `proofValue`.

JSON-LD contexts come from `portal/jsonld_contexts/` through a static document loader, and
canonicalization runs in "safe mode": a property the contexts do not define would be silently
dropped from the signed data, so it is an error instead.
"""
