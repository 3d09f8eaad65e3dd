"""Register tests (a package, so that module names like test_service do not clash with other features')."""
