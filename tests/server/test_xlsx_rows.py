"""The streaming .xlsx reader (server/services/xlsx_rows.py) against openpyxl's own reading
of the same files, and on files built to hurt it."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook as OpenpyxlBook
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from server.services import roster_import
from server.services.xlsx_rows import Formula, NotXlsx, Workbook


def saved(book: OpenpyxlBook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def openpyxl_rows(data: bytes, sheet: str, columns: int) -> list[tuple[int, list]]:
    ws = load_workbook(io.BytesIO(data), read_only=True, data_only=True)[sheet]
    out = []
    for number, row in enumerate(ws.iter_rows(max_col=columns, values_only=True), start=1):
        values = list(row) + [None] * (columns - len(row))
        if any(v is not None for v in values):
            out.append((number, values[:columns]))
    return out


@pytest.mark.parametrize("write_only", [False, True])   # shared strings / inline strings
def test_values_as_openpyxl_reads_them(write_only):
    book = OpenpyxlBook(write_only=write_only)
    ws = book.create_sheet("住户") if write_only else book.active
    ws.title = "住户"
    rows = [["户编号", "地址", "人数", "电话", "日期", "是", "公式"],
            ["H1", "幸福路1号 & <2>", 3, 13800000000, dt.datetime(2026, 11, 20, 8, 30), True,
             "=1+1"],
            [None, None, None, None, None, None, None],
            ["H2", "  spaced  ", 2.5, -7, dt.date(2026, 1, 2), False, "x"]]
    for row in rows:
        ws.append(row)
    if not write_only:
        ws["E4"].number_format = "yyyy-mm-dd"
        ws["B6"] = "after a gap"
    data = saved(book)
    ours = list(Workbook(data).rows("住户", 7))
    # A formula saved without its value: openpyxl reads None, we keep its text (B-5: the
    # roster import said "not allowed: “”" of such a cell instead of "a formula").
    formula = ours[1][1][6]
    assert isinstance(formula, Formula) and formula == "=1+1"
    ours[1][1][6] = None
    assert ours == openpyxl_rows(data, "住户", 7)
    assert ours[1][1][:4] == ["H1", "幸福路1号 & <2>", 3, 13800000000]
    assert isinstance(ours[1][1][4], dt.datetime)


def test_rich_text_runs_are_joined_and_phonetic_guides_left_out():
    book = OpenpyxlBook()
    ws = book.active
    ws.title = "住户"
    ws["A1"] = CellRichText("幸福", TextBlock(InlineFont(b=True), "路"), "1号")
    data = saved(book)
    assert list(Workbook(data).rows("住户", 2)) == [(1, ["幸福路1号", None])]
    # Excel itself writes shared strings, with readings (<rPh>) that are not text.
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    excel = rezip({
        "xl/workbook.xml": b'<workbook ' + main + b' xmlns:r="' + rel + b'"><sheets>'
                           b'<sheet name="\xe4\xbd\x8f\xe6\x88\xb7" sheetId="1" r:id="rId1"/>'
                           b'</sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="' + rel + b'/worksheet" Target="worksheets/s.xml"/>'
            b'<Relationship Id="rId2" Type="' + rel + b'/sharedStrings" Target="strings.xml"/>'
            b'</Relationships>',
        "xl/strings.xml": b'<sst ' + main + b'><si><t>\xe7\x8e\x8b\xe8\x8a\xb3</t>'
                          b'<rPh sb="0" eb="1"><t>wang</t></rPh></si>'
                          b'<si><r><t>a</t></r><r><rPr><b/></rPr><t xml:space="preserve"> b</t>'
                          b'</r></si></sst>',
        # A namespace prefix, and rows and cells without r=.
        "xl/worksheets/s.xml":
            b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<x:sheetData><x:row><x:c t="s"><x:v>0</x:v></x:c><x:c><x:v>7</x:v></x:c></x:row>'
            b'<x:row r="5"><x:c r="B5" t="s"><x:v>1</x:v></x:c></x:row>'
            b'</x:sheetData></x:worksheet>'})
    assert list(Workbook(excel).rows("住户", 2)) == [(1, ["王芳", 7]), (5, [None, "a b"])]


def rezip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return out.getvalue()


def test_a_cell_at_the_far_corner_costs_nothing():
    """python-calamine builds a dense grid and aborts the process on this 5 KB file."""
    book = OpenpyxlBook()
    ws = book.active
    ws.title = "住户"
    ws["A1"] = "户编号"
    ws["XFD1048576"] = "far"
    assert list(Workbook(saved(book)).rows("住户", 8)) == [(1, ["户编号"] + [None] * 7)]


def test_broken_files_are_refused_not_crashed_on():
    good = roster_import.template()
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for bad in (b"", b"PK\x03\x04 not really", rezip({"xl/workbook.xml": b"<workbook"})):
        with pytest.raises(NotXlsx):
            Workbook(bad)
    sheet = Workbook(good).sheets["住户"]
    broken = rezip({**parts, sheet: parts[sheet][:-40]})
    with pytest.raises(roster_import.RosterError):
        list(roster_import.read_rows(roster_import.open_workbook(broken), "households"))


def test_parts_larger_than_their_bound_are_refused_before_parsing(monkeypatch):
    from server.services import xlsx_rows

    data = roster_import.template()
    monkeypatch.setattr(xlsx_rows, "MAX_PART_BYTES", 100)      # the sheets (streamed)
    with pytest.raises(roster_import.RosterError):
        list(roster_import.read_rows(roster_import.open_workbook(data), "households"))
    monkeypatch.setattr(xlsx_rows, "MAX_TREE_BYTES", 100)      # the workbook (parsed whole)
    with pytest.raises(roster_import.RosterError):
        roster_import.open_workbook(data)


MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>\xe6\x88\xb7\xe7\xbc\x96\xe5\x8f\xb7</t>'
          b'</is></c><c r="B1" t="inlineStr"><is><t>\xe7\xbd\x91\xe6\xa0\xbc</t></is></c></row>')


def hostile(rows: bytes = b"", strings: bytes | None = None, styles: bytes | None = None
            ) -> bytes:
    """A 住户 sheet (户编号, 网格 headers, then ``rows``), shared strings and styles."""
    parts = {
        "xl/workbook.xml": b'<workbook ' + MAIN + b' xmlns:r="' + REL + b'"><sheets>'
                           b'<sheet name="\xe4\xbd\x8f\xe6\x88\xb7" sheetId="1" r:id="rId1"/>'
                           b'</sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="' + REL + b'/worksheet" Target="worksheets/s.xml"/>'
            b'<Relationship Id="rId2" Type="' + REL + b'/sharedStrings" Target="strings.xml"/>'
            b'<Relationship Id="rId3" Type="' + REL + b'/styles" Target="styles.xml"/>'
            b'</Relationships>',
        "xl/worksheets/s.xml": b'<worksheet ' + MAIN + b'><sheetData>' + HEADER + rows
                               + b'</sheetData></worksheet>'}
    if strings is not None:
        parts["xl/strings.xml"] = b'<sst ' + MAIN + b'>' + strings + b'</sst>'
    if styles is not None:
        parts["xl/styles.xml"] = styles
    return rezip(parts)


def refusal(data: bytes) -> str:
    """The problem code the roster import gives ``data`` (a RosterError is required)."""
    with pytest.raises(roster_import.RosterError) as refused:
        list(roster_import.read_rows(roster_import.open_workbook(data), "households"))
    return refused.value.fields["file"][0]


def test_files_built_to_exhaust_memory_are_refused_early(monkeypatch):
    from server.services import xlsx_rows

    # Millions of short shared strings unzip from a few hundred KB (~1 GB of objects).
    monkeypatch.setattr(xlsx_rows, "MAX_STRINGS", 1000)
    assert refusal(hostile(strings=b"<si><t>ab</t></si>" * 1001)) == "too large"
    assert list(Workbook(hostile(strings=b"<si><t>ab</t></si>" * 1000)).rows("住户", 2))
    # One cell's text past Excel's own limit, inline or shared.
    big = b"a" * (xlsx_rows.MAX_CELL_CHARS + 1)
    assert refusal(hostile(b'<row r="2"><c r="C2" t="inlineStr"><is><t>' + big
                           + b'</t></is></c></row>')) == "too large"
    assert refusal(hostile(strings=b"<si><t>" + big + b"</t></si>")) == "too large"


def test_small_parts_padded_to_their_bound_cost_little_memory(monkeypatch):
    """workbook.xml, its relationships and styles.xml are read as they are parsed, not
    built as trees: padded to just under their 8 MB bound with elements, ElementTree took
    190-360 MB for them, for any admin's upload (here a 2 MB bound: 36 MB as trees)."""
    import tracemalloc

    from server.services import xlsx_rows

    monkeypatch.setattr(xlsx_rows, "MAX_TREE_BYTES", 2 << 20)
    fill = int(xlsx_rows.MAX_TREE_BYTES * 0.9)
    pad = b'<fill><x a="1"/></fill>'
    styles = (b'<styleSheet ' + MAIN + b'><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/>'
              + pad * (fill // len(pad)) + b'</cellXfs></styleSheet>')
    data = hostile(b'<row r="2"><c r="A2" s="1"><v>46000</v></c></row>', styles=styles)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    book = parts["xl/workbook.xml"]
    parts["xl/workbook.xml"] = book.replace(b"</workbook>", b"<x/>" * (fill // 4) + b"</workbook>")
    data = rezip(parts)
    assert min(len(parts["xl/workbook.xml"]), len(styles)) > fill
    tracemalloc.start()
    try:
        rows = list(Workbook(data).rows("住户", 1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows[1] == (2, [dt.datetime(2025, 12, 9)])
    assert peak < 4 << 20, f"{peak / 2**20:.1f} MB"


def test_rows_are_counted_not_taken_from_their_numbers(monkeypatch):
    """Every row saying r="2" must not slip past the row limit."""
    monkeypatch.setattr(roster_import, "MAX_ROWS", 5)
    row = b'<row r="2"><c r="A2" t="inlineStr"><is><t>H</t></is></c></row>'
    assert len(list(roster_import.read_rows(roster_import.open_workbook(hostile(row * 5)),
                                            "households"))) == 5
    assert refusal(hostile(row * 6)) == "too many rows"


def test_broken_styles_and_impossible_dates_are_refused_not_crashed_on():
    styles = (b'<styleSheet ' + MAIN + b'><cellXfs count="2"><xf numFmtId="0"/>'
              b'<xf numFmtId="14"/></cellXfs></styleSheet>')
    dated = b'<row r="2"><c r="A2" s="1"><v>%s</v></c></row>'
    assert list(Workbook(hostile(dated % b"46000", styles=styles)).rows("住户", 1))[1][1][0] \
        == dt.datetime(2025, 12, 9)
    for value in (b"1e300", b"99999999"):   # past year 9999
        assert refusal(hostile(dated % value, styles=styles)) == "not an xlsx file"
    assert refusal(hostile(dated % b"1", styles=b"<styleSheet><broken")) == "not an xlsx file"


def test_a_part_declaring_a_dtd_is_refused_so_no_entity_expands():
    """Entities would expand past every size bound (expat's own guard allows ~100x: an
    11 KB upload made 388 MB of shared strings); no .xlsx part has a DTD."""
    laughs = (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
              + b"".join(b'<!ENTITY %c "%s">' % (98 + i, b"&%c;" % (97 + i) * 10)
                         for i in range(9)) + b"]>")
    sheet = (b'<worksheet ' + MAIN + b'><sheetData>' + HEADER + b'<row r="2"><c r="A2" '
             b't="inlineStr"><is><t>&j;</t></is></c></row></sheetData></worksheet>')
    with zipfile.ZipFile(io.BytesIO(hostile(strings=b"<si><t>x</t></si>"))) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    assert refusal(rezip({**parts, "xl/worksheets/s.xml": laughs + sheet})) == "not an xlsx file"
    external = (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                + sheet.replace(b"&j;", b"&e;"))
    assert refusal(rezip({**parts, "xl/worksheets/s.xml": external})) == "not an xlsx file"
    small = b'<!DOCTYPE x [<!ENTITY a "' + b"y" * 1700 + b'">]>'
    strings = parts["xl/strings.xml"].replace(b"<si><t>x</t></si>", b"<si><t>&a;</t></si>" * 50)
    assert refusal(rezip({**parts, "xl/strings.xml": small + strings})) == "not an xlsx file"
    book = small + parts["xl/workbook.xml"].replace(b'name="', b'name="&a;')
    with pytest.raises(NotXlsx):
        Workbook(rezip({**parts, "xl/workbook.xml": book}))
    plain_dtd = b"<!DOCTYPE workbook>" + parts["xl/workbook.xml"]   # even one declaring nothing
    with pytest.raises(NotXlsx):
        Workbook(rezip({**parts, "xl/workbook.xml": plain_dtd}))


def test_a_workbook_naming_too_many_sheets_is_refused(monkeypatch):
    from server.services import xlsx_rows

    monkeypatch.setattr(xlsx_rows, "MAX_SHEETS", 3)
    with zipfile.ZipFile(io.BytesIO(hostile())) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    many = parts["xl/workbook.xml"].replace(b"</sheets>", b'<sheet name="x" r:id="rId9"/>' * 3
                                            + b"</sheets>")
    with pytest.raises(xlsx_rows.TooLarge):
        Workbook(rezip({**parts, "xl/workbook.xml": many}))


def with_sheet_entry(data: bytes, field: int, value: int) -> bytes:
    """``data`` with a 2-byte field of the sheet's central directory entry (what zipfile
    reads a part's flags and compression from) set to ``value``."""
    out = bytearray(data)
    at = 0
    while (at := out.find(b"PK\x01\x02", at)) >= 0:
        n = int.from_bytes(out[at + 28:at + 30], "little")
        if out[at + 46:at + 46 + n].endswith(b"worksheets/s.xml"):
            out[at + field:at + field + 2] = value.to_bytes(2, "little")
        at += 4
    return bytes(out)


def test_an_encrypted_or_oddly_compressed_sheet_is_refused_not_crashed_on():
    good = hostile(b'<row r="2"><c r="A2" t="inlineStr"><is><t>H</t></is></c></row>')
    assert refusal(with_sheet_entry(good, 8, 1)) == "not an xlsx file"    # encrypted
    assert refusal(with_sheet_entry(good, 10, 9)) == "not an xlsx file"   # deflate64
