"""`golf import`: existing modded-nanogpt / parameter-golf logs and markdown collections.

Modules: fields (a line's key:value fields), runlog (one run's lines -> curve and finals), finals
(step-less summary lines), attempts (a restarted job's attempts in one log), seeds (the seed of a
log without one), sniff (collection or log; the dumped script skipped), markdown (sections), walk
(which files), logs (one file -> runs), write (runs -> the store, summary).
Parsing is pure (text -> ParsedRun); only `import_paths` writes, through the store's public API.
"""

from sweeper.importer.logs import FORMATS, FileResult, ParsedRun, parse_file, parse_text
from sweeper.importer.markdown import variant_seed_from_header
from sweeper.importer.sniff import sniff_format
from sweeper.importer.write import ImportSummary, import_paths

__all__ = ["FORMATS", "FileResult", "ImportSummary", "ParsedRun", "import_paths", "parse_file", "parse_text",
           "sniff_format", "variant_seed_from_header"]
