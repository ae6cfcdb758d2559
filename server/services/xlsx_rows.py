"""Reading the rows of one sheet of an uploaded .xlsx, streamed with the standard library.

A roster is read once per dry run and once per write, so the reader bounds the import:
openpyxl (read-only, values only) reads about 5,500 rows of the roster a CPU-second
here; this reader, which runs the sheet's XML through expat (the standard library's
parser) as it is unzipped, keeping nothing but the row in hand and building no element
objects, reads about 40,000 (bench/console_import.py; ``xml.etree.iterparse`` read
17,000).
python-calamine is faster still but builds the sheet as one dense grid: a 5 KB file
with one cell at XFD1048576 makes it ask for 512 GB and abort the process, so it is
not fit for files from the web.

What it gives is what openpyxl gives with ``data_only=True``: the cached value of a
formula (a formula saved without one: its text as a ``Formula``, where openpyxl gives
None), numbers as ``int`` or ``float``, ``True``/``False``, error codes as text
("#N/A"), dates (a number in a date format, from styles.xml) as ``datetime``; shared
and inline strings without their phonetic guides. Cells are keyed by column index
(0-based) and only the columns asked for are kept, so a cell far to the right costs
nothing. Files are bounded before anything is parsed: each part's unzipped size is
checked (zip bombs); a cell's text is at most Excel's own 32,767 characters and the
shared strings table at most ``MAX_STRINGS`` entries (a 300 KB upload of empty or short
strings unzips to millions of them: ~1 GB of Python objects); the caller bounds the rows.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import from_excel

CHUNK = 1 << 16
MAX_PART_BYTES = 256 << 20   # unzipped sheet or shared strings (a 200,000-row roster: ~60 MB)
MAX_TREE_BYTES = 8 << 20     # unzipped workbook, relationships, styles (real ones: a few KB)
MAX_CELL_CHARS = 32_767      # Excel's limit for the text of one cell
MAX_STRINGS = 4_000_000      # shared strings: two full sheets of 200,000 rows, ten texts a row
MAX_SHEETS = 1_000           # sheets (and relationships) one workbook may name
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_INTEGER = re.compile(r"-?\d{1,15}")


class Formula(str):
    """A formula cell saved without its value (a file written by a program, not by
    Excel): the formula's text, "=" first, so it is not read as an empty cell."""


class NotXlsx(ValueError):
    """Not an .xlsx workbook we can read (not a zip, parts missing, broken XML)."""


class TooLarge(NotXlsx):
    """A workbook past one of the reader's bounds (a part, a cell's text, the strings)."""


_COLUMNS: dict[str, int] = {}


def _column(ref: str) -> int:
    """0-based column of a cell reference ("C12" → 2); -1 for one without letters."""
    letters = ref.rstrip("0123456789")
    column = _COLUMNS.get(letters)
    if column is None:
        column = -1
        for ch in letters.upper():
            if not "A" <= ch <= "Z":
                return -1
            column = (column + 1) * 26 + ord(ch) - 65
        if len(_COLUMNS) < 20_000:
            _COLUMNS[letters] = column
    return column


def _no_doctype(*_: object) -> None:
    raise NotXlsx("a part declares a DTD, which no .xlsx part has")


def _parser(namespace_separator: str | None = None) -> Any:
    """An expat parser that refuses any DOCTYPE: entities declared in one would expand
    past every size bound (expat's own guard allows ~100x, so an 11 KB upload became
    388 MB of strings); Excel and WPS never write one (defusedxml refuses them too)."""
    parser = expat.ParserCreate(namespace_separator=namespace_separator)
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_doctype
    return parser


def _collect(local: str, into: list[dict[str, str]]) -> Callable[[list[str], dict[str, str]],
                                                                  None]:
    """A ``Workbook._scan`` callback keeping the attributes of every ``local`` element,
    at most MAX_SHEETS of them."""
    def keep(path: list[str], attrs: dict[str, str]) -> None:
        if path[-1] == local:
            if len(into) >= MAX_SHEETS:
                raise TooLarge(f"more than {MAX_SHEETS} {local} entries")
            into.append(attrs)
    return keep


class Workbook:
    """An opened .xlsx: its sheet names, and each sheet's rows on demand."""

    def __init__(self, data: bytes):
        sheets: list[dict[str, str]] = []
        rels: list[dict[str, str]] = []
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            self._scan("xl/workbook.xml", _collect("sheet", sheets))
            self._scan("xl/_rels/workbook.xml.rels", _collect("Relationship", rels))
        except (zipfile.BadZipFile, KeyError, expat.ExpatError, OSError, EOFError,
                RuntimeError, NotImplementedError) as exc:  # RuntimeError: encrypted entries
            if isinstance(exc, NotXlsx):
                raise
            raise NotXlsx(str(exc)) from None
        targets = {r.get("Id"): self._part(r.get("Target") or "") for r in rels}
        kinds = {r.get("Type", "").rpartition("/")[2]: self._part(r.get("Target") or "")
                 for r in rels}
        self.sheets = {s.get("name", ""): targets.get(s.get(_REL) or s.get("id"), "")
                       for s in sheets}
        self.sheetnames = list(self.sheets)
        self._strings_part = kinds.get("sharedStrings", "")
        self._styles_part = kinds.get("styles", "")
        self._strings: list[str] | None = None
        self._dates: set[int] | None = None

    @staticmethod
    def _part(target: str) -> str:
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join("xl", target))

    def _open(self, name: str, whole: bool = False) -> IO[bytes]:
        if self.zip.getinfo(name).file_size > (MAX_TREE_BYTES if whole else MAX_PART_BYTES):
            raise TooLarge(f"{name} is too large")
        return self.zip.open(name)

    def _scan(self, name: str, keep: Callable[[list[str], dict[str, str]], object]) -> None:
        """Run a small part (workbook, relationships, styles) through expat, calling
        ``keep(path, attrs)`` at each element's start: ``path`` the local names from the
        root down, namespaced attributes as ``uri}name``. Nothing is built, so a part
        padded to its size bound costs its handful of kept attributes, not a tree of
        elements (ElementTree took 190-360 MB for 8 MB)."""
        path: list[str] = []

        def start(name: str, attrs: dict[str, str]) -> None:
            path.append(name.rpartition("}")[2])
            keep(path, attrs)

        parser = _parser(namespace_separator="}")
        parser.StartElementHandler = start
        parser.EndElementHandler = lambda name: path.pop()
        with self._open(name, whole=True) as f:
            parser.ParseFile(f)

    def close(self) -> None:
        self.zip.close()

    # --- what cells refer to ---------------------------------------------------------
    def strings(self) -> list[str]:
        """The shared strings table (what ``t="s"`` cells point into)."""
        if self._strings is None:
            self._strings = []
            if self._strings_part in self.zip.NameToInfo:
                with self._open(self._strings_part) as f:
                    _Strings(self._strings).parse(f)
        return self._strings

    def date_styles(self) -> set[int]:
        """Indexes of the cell formats (``s=``) that show a number as a date or time."""
        if self._dates is None:
            self._dates = set()
            if self._styles_part in self.zip.NameToInfo:
                custom: dict[int, str] = {}
                xfs: list[int] = []       # each cell format's number format, in order

                def keep(path: list[str], attrs: dict[str, str]) -> None:
                    if path[-1] == "numFmt":
                        custom[int(attrs.get("numFmtId", -1))] = attrs.get("formatCode", "")
                    elif len(path) == 3 and path[1] == "cellXfs" and path[2] == "xf":
                        xfs.append(int(attrs.get("numFmtId", 0)))

                self._scan(self._styles_part, keep)
                for i, fmt_id in enumerate(xfs):
                    code = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, ""))
                    if code and is_date_format(code):
                        self._dates.add(i)
        return self._dates

    # --- rows -------------------------------------------------------------------
    def rows(self, sheet: str, columns: int) -> Iterator[tuple[int, list[Any]]]:
        """(row number, values of its first ``columns`` cells; None where blank) of each
        row that has a value, in order. Raises NotXlsx on broken XML."""
        try:
            strings, dates = self.strings(), self.date_styles()
            reader = _Sheet(columns, strings, dates)
            with self._open(self.sheets[sheet]) as f:
                while chunk := f.read(CHUNK):
                    reader.feed(chunk)
                    yield from reader.take()
                reader.feed(b"", final=True)
                yield from reader.take()
        except (expat.ExpatError, KeyError, ValueError, IndexError,
                OverflowError, zipfile.BadZipFile, EOFError, OSError, RuntimeError,
                NotImplementedError) as exc:
            # ExpatError: a broken sheet or styles.xml; OverflowError: a date past 9999;
            # RuntimeError, NotImplementedError: an encrypted part, an unknown compression
            if isinstance(exc, NotXlsx):
                raise
            raise NotXlsx(f"{sheet}: {exc}") from None


class _Expat:
    """An expat parser whose element names are matched without their namespace prefix
    (taken from the root element: "x:worksheet" makes every name "x:…")."""

    NAMES: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.parser = _parser()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._root
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.chars
        self.collect = False
        self.phonetic = 0
        self.buf: list[str] = []
        self.size = 0   # characters in buf

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        prefix = name.rpartition(":")[0]
        for local in self.NAMES:
            setattr(self, local.upper(), f"{prefix}:{local}" if prefix else local)
        self.parser.StartElementHandler = self.start

    def feed(self, data: bytes, final: bool = False) -> None:
        self.parser.Parse(data, final)

    def parse(self, f: IO[bytes]) -> None:
        self.parser.ParseFile(f)

    def chars(self, data: str) -> None:
        if self.collect:
            self.size += len(data)
            if self.size > MAX_CELL_CHARS:
                raise TooLarge(f"a cell holds more than {MAX_CELL_CHARS} characters")
            self.buf.append(data)

    def clear(self) -> None:
        self.buf.clear()
        self.size = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        raise NotImplementedError

    def end(self, name: str) -> None:
        raise NotImplementedError


class _Strings(_Expat):
    """The shared strings: each <si>'s text, phonetic guides (<rPh>) left out."""

    NAMES = ("si", "t", "rPh")
    SI = T = RPH = ""

    def __init__(self, out: list[str]):
        super().__init__()
        self.out = out

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == self.T:
            self.collect = not self.phonetic
        elif name == self.SI:
            if len(self.out) >= MAX_STRINGS:
                raise TooLarge(f"more than {MAX_STRINGS} shared strings")
            self.clear()
        elif name == self.RPH:
            self.phonetic += 1

    def end(self, name: str) -> None:
        if name == self.T:
            self.collect = False
        elif name == self.SI:
            self.out.append("".join(self.buf))
        elif name == self.RPH:
            self.phonetic -= 1


class _Sheet(_Expat):
    """A worksheet's rows as they are parsed: ``take()`` the ones finished so far."""

    NAMES = ("row", "c", "v", "t", "rPh", "f")
    ROW = C = V = T = RPH = F = ""

    def __init__(self, columns: int, strings: list[str], dates: set[int]):
        super().__init__()
        self.columns, self.strings, self.dates = columns, strings, dates
        self.number, self.column, self.kind, self.style = 0, -1, "n", 0
        self.formula: str | None = None
        self.values: list[Any] = []
        self.done: list[tuple[int, list[Any]]] = []

    def take(self) -> list[tuple[int, list[Any]]]:
        done, self.done = self.done, []
        return done

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == self.C:
            ref = attrs.get("r")
            self.column = _column(ref) if ref else self.column + 1
            self.kind = attrs.get("t", "n")
            self.style = int(attrs.get("s") or 0) if self.dates else 0
            self.formula = None
            self.clear()
        elif name == self.V or name == self.T or name == self.F:
            self.collect = not self.phonetic
        elif name == self.ROW:
            number = attrs.get("r")
            self.number = int(number) if number else self.number + 1
            self.column = -1
            self.values = [None] * self.columns
        elif name == self.RPH:
            self.phonetic += 1

    def end(self, name: str) -> None:
        if name == self.C:
            if 0 <= self.column < self.columns:
                if self.buf:
                    self.values[self.column] = self._value("".join(self.buf))
                elif self.formula is not None:
                    self.values[self.column] = Formula("=" + self.formula)
        elif name == self.V or name == self.T:
            self.collect = False
        elif name == self.F:
            self.collect = False
            self.formula = "".join(self.buf)
            self.clear()
        elif name == self.ROW:
            if any(v is not None for v in self.values):
                self.done.append((self.number, self.values))
        elif name == self.RPH:
            self.phonetic -= 1

    def _value(self, raw: str) -> Any:
        kind = self.kind
        if kind == "s":
            return self.strings[int(raw)]
        if kind in ("inlineStr", "str", "e", "d"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        value: int | float = int(raw) if _INTEGER.fullmatch(raw) else float(raw)
        if self.style in self.dates:
            return from_excel(value)
        return value
