"""`golf import`: existing modded-nanogpt / parameter-golf logs and markdown collections.

Parsing is pure (text -> ParsedRun); only `import_paths` writes, through the store's public API.
May import sweeper.errors (and the store, passed in by the caller).
"""

from sweeper.importer.logs import (FORMATS, ImportSummary, ParsedRun, import_paths, parse_file,
                                   parse_text, sniff_format, variant_seed_from_header)

__all__ = ["FORMATS", "ImportSummary", "ParsedRun", "import_paths", "parse_file", "parse_text",
           "sniff_format", "variant_seed_from_header"]
