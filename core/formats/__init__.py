"""Readers and writers of task files: pure, database-free, streaming.

Readers turn an import file into :class:`ParsedTask` objects (``iter_tasks``); writers turn Label Studio
task dicts into Label Studio's export formats (``FORMATS`` / ``get_format`` / ``supported_formats``).
The import and export services wire these to the database and the blob store.
"""
from core.formats.readers import ParsedTask, iter_tasks
from core.formats.registry import FORMATS, ExportFormat, get_format, supported_formats
from core.formats.schema import ControlSpec, ExportSchema, ObjectSpec, schema_from_config
from core.formats.writers_ls import write_csv, write_json, write_json_min, write_tsv

__all__ = [
    "FORMATS",
    "ControlSpec",
    "ExportFormat",
    "ExportSchema",
    "ObjectSpec",
    "ParsedTask",
    "get_format",
    "iter_tasks",
    "schema_from_config",
    "supported_formats",
    "write_csv",
    "write_json",
    "write_json_min",
    "write_tsv",
]
