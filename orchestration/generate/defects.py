"""Demo faults (``--defects``): what ingest must quarantine or reject and what checks must flag.

Every fault is recorded in ``ground_truth/defects.jsonl`` with the file and 1-based data row
it sits in, and the expected counts are adjusted so loaded + quarantined rows reconcile
exactly. Defective rows and files come on top of the good data, so everything else loads.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from orchestration.extracts import get_entity
from orchestration.generate.crm import SEGMENT_DEAL_USD, CrmSimulator, to_local
from orchestration.generate.population import Population
from orchestration.generate.writer import LandingWriter, read_text, write_bytes

MIN_MONTHS_WITH_DEFECTS = 6  # stale leads stop 4 months before the end, after >= 2 extracts
STALE_MONTHS = 4
VOLUME_DROP_FACTOR = 0.2  # the latest month keeps 20% of its portal events


class DefectInjector:
    def __init__(self, pop: Population, rng: np.random.Generator, enabled: bool) -> None:
        if enabled and pop.months < MIN_MONTHS_WITH_DEFECTS:
            raise ValueError(f"--defects needs at least {MIN_MONTHS_WITH_DEFECTS} months")
        self.pop, self.rng, self.enabled = pop, rng, enabled
        self.records: list[dict[str, Any]] = []
        self.quiet_partner = self._pick_quiet_partner() if enabled else -1

    # -- hooks used while generating ---------------------------------------------------------
    def _pick_quiet_partner(self) -> int:
        """A big, established, steady partner: its sudden revenue has no activity behind it."""
        pop = self.pop
        ok = (pop.trajectory == 1) & (pop.join_month < -12) & (pop.churn_month < 0)
        candidates = np.flatnonzero(ok) if ok.any() else np.flatnonzero(pop.churn_month < 0)
        return int(candidates[np.argmax(pop.size[candidates])])

    def simulation_options(self) -> dict[str, Any]:
        if not self.enabled:
            return {}
        return {
            "quiet_partner": self.quiet_partner,
            "leads_stop_month": self.pop.months - STALE_MONTHS,
            "null_customer_last_month": True,
        }

    def event_factor(self, t: int) -> float:
        return VOLUME_DROP_FACTOR if self.enabled and t == self.pop.months - 1 else 1.0

    # -- after generating ---------------------------------------------------------------------
    def inject(self, writer: LandingWriter, sim: CrmSimulator) -> None:
        if not self.enabled:
            return
        self.writer, self.sim = writer, sim
        self.latest = self.pop.month_date(self.pop.months)
        self._opportunities()
        self._deal_registrations()
        self._renewals()
        self._csat()
        self._portal()
        self._lms()
        self._unknown_entity()
        self._partner_encodings()
        self._generation_faults()

    def _record(
        self,
        kind: str,
        entity: str,
        file: str | None,
        row: int | None,
        column: str | None,
        detail: str,
        caught_by: str,
        source: str = "crm",
    ) -> None:
        self.records.append(
            {
                "kind": kind,
                "source": source,
                "entity": entity,
                "file": file,
                "row": row,
                "column": column,
                "detail": detail,
                "caught_by": caught_by,
            }
        )

    def _path(self, source: str, entity: str, name: str, extract: date | None = None) -> Path:
        extract = extract or self.latest
        return self.writer.landing_dir / source / entity / extract.isoformat() / name

    def _append_csv(
        self,
        source: str,
        entity: str,
        path: Path,
        rows: list[tuple[list[str], str | None, str | None, str, str]],
    ) -> None:
        """Append raw CSV rows; each is (fields, kind, column, detail, caught_by)."""
        rel = self.writer.relative(path)
        text = read_text(path)
        if not text.endswith("\n"):
            text += "\n"
        existing = self.writer.rows_in_file[rel]
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        counts = self.writer.counts[f"{source}/{entity}"]
        for i, (fields, kind, column, detail, caught_by) in enumerate(rows, start=1):
            out.writerow(fields)
            counts.rows_written += 1
            if caught_by == "ingest:quarantine":
                counts.rows_expected_quarantined += 1
            else:
                counts.rows_expected_loaded += 1
            if kind:
                self._record(kind, entity, rel, existing + i, column, detail, caught_by, source)
        self.writer.rows_in_file[rel] = existing + len(rows)
        write_bytes(path, (text + buf.getvalue()).encode("utf-8"))

    @staticmethod
    def _header_and_rows(path: Path) -> tuple[list[str], list[list[str]]]:
        rows = list(csv.reader(io.StringIO(read_text(path))))
        return rows[0], rows[1:]

    def _rows_at_least(
        self, entity: str, path: Path, minimum: int
    ) -> tuple[list[str], list[list[str]]]:
        """Header and rows of a latest extract, topped up with valid rows when it is tiny.

        Faults are modelled on real rows; a very small demo (a handful of partners) can have
        an empty latest extract, so a few plain valid rows are added first (they load).
        """
        header, data = self._header_and_rows(path)
        missing = minimum - len(data)
        if missing > 0:
            contract = get_entity("crm", entity)
            assert contract is not None
            pop = self.pop
            pid = str(pop.partner_ids(np.array([int(np.argmin(pop.join_month))]))[0])
            day = pop.month_date(pop.months - 1).isoformat()
            fill = []
            for i in range(missing):
                values = {}
                for col in contract.columns:
                    if col.name == contract.key:
                        values[col.name] = f"{entity[:3].upper()}-S{i + 1:06d}"
                    elif col.name == "partner_id":
                        values[col.name] = pid
                    elif col.name == "customer_id":
                        values[col.name] = f"C{i + 1:08d}"
                    elif col.accepted_values:
                        values[col.name] = col.accepted_values[0]
                    elif col.name == "currency":
                        values[col.name] = "USD"
                    elif col.type == "date" and col.required:
                        values[col.name] = day
                    elif col.type == "timestamp":
                        values[col.name] = f"{day}T12:00:00Z"
                    elif col.type in ("decimal", "double") and col.required:
                        values[col.name] = "4.0" if entity == "csat_responses" else "1000.00"
                    elif col.type == "boolean" and col.required:
                        values[col.name] = "false"
                    else:
                        values[col.name] = ""
                fill.append(([values[h] for h in header], None, None, "", "loaded"))
            self._append_csv("crm", entity, path, fill)
            header, data = self._header_and_rows(path)
        return header, data

    def _opportunities(self) -> None:
        pop, sim = self.pop, self.sim
        path = self._path("crm", "opportunities", "opportunities.csv.gz")
        header, data = self._rows_at_least("opportunities", path, 1)
        template = dict(zip(header, data[0], strict=True))
        last_month = pop.month_date(pop.months - 1)

        def row(**changes: str) -> list[str]:
            values = {**template, **changes}
            return [values[h] for h in header]

        quarantine = "ingest:quarantine"
        new_id = iter(f"OPP-D{i:06d}" for i in range(1, 100))
        rows: list[tuple[list[str], str | None, str | None, str, str]] = []
        rows.append((row(opportunity_id=next(new_id))[:4], "malformed_row", None,
                     "row with 4 of 11 fields", quarantine))  # fmt: skip
        rows.append(([*row(opportunity_id=next(new_id)), "extra", "fields"], "malformed_row",
                     None, "row with 13 of 11 fields", quarantine))  # fmt: skip
        rows.append((row(opportunity_id=next(new_id), amount="12,5x"), "wrong_type", "amount",
                     "amount '12,5x' is not a decimal", quarantine))  # fmt: skip
        rows.append((row(opportunity_id=next(new_id), created_date="31/02/2025"), "wrong_type",
                     "created_date", "created_date '31/02/2025' is not a date", quarantine))  # fmt: skip
        check = "check:referential_integrity"
        for i in range(3):
            rows.append((row(opportunity_id=next(new_id), partner_id=f"P{99001 + i}"),
                         "orphan_partner_id", "partner_id",
                         f"partner P{99001 + i} is not in crm/partners", check))  # fmt: skip
        for _ in range(2):
            rows.append((row(opportunity_id=next(new_id), stage="won!"), "unaccepted_value",
                         "stage", "stage 'won!' is not an accepted stage",
                         "check:accepted_values"))  # fmt: skip

        # Revenue spike: big wins closing this month on deals nobody saw being created,
        # for a partner that was otherwise silent this month.
        p = self.quiet_partner
        trailing = sim.won_usd[p, max(0, pop.months - 7) : pop.months - 1].mean()
        spike_usd = max(8 * trailing, 8 * SEGMENT_DEAL_USD[pop.segment[p]])
        currency = str(pop.currency[p])
        created = (last_month - timedelta(days=240)).isoformat()
        closed = (last_month + timedelta(days=20)).isoformat()
        pid = str(pop.partner_ids(np.array([p]))[0])
        ratio = spike_usd / max(trailing, 1.0)
        detail = (
            f"{pid} closes ~{ratio:.0f}x its trailing monthly won revenue in {last_month:%Y-%m} "
            "with no opportunities created, deal registrations, leads, portal or LMS activity"
        )
        for _ in range(2):
            amount = to_local(np.array([spike_usd / 2]), np.array([currency]))[0]
            rows.append((row(opportunity_id=next(new_id), partner_id=pid, customer_id="",
                             amount=f"{amount:.2f}", currency=currency, stage="closed_won",
                             created_date=created, closed_date=closed, is_won="true",
                             deal_registration_id=""),
                         "revenue_spike_without_activity", "amount", detail,
                         "check:revenue_spike_anomaly"))  # fmt: skip
        self._append_csv("crm", "opportunities", path, rows)

    def _deal_registrations(self) -> None:
        path = self._path("crm", "deal_registrations", "deal_registrations.csv.gz")
        header, data = self._rows_at_least("deal_registrations", path, 2)
        rows: list[tuple[list[str], str | None, str | None, str, str]] = []
        for original in data[:2]:
            rows.append((original, "duplicate_key", "deal_registration_id",
                         f"second occurrence of {original[0]} in this extract",
                         "ingest:quarantine"))  # fmt: skip
        bad = dict(zip(header, data[-1], strict=True))
        bad.update(deal_registration_id="DR-D000001", submitted_date="31/02/2025")
        rows.append(([bad[h] for h in header], "wrong_type", "submitted_date",
                     "submitted_date '31/02/2025' is not a date", "ingest:quarantine"))  # fmt: skip
        self._append_csv("crm", "deal_registrations", path, rows)

    def _renewals(self) -> None:
        path = self._path("crm", "renewals", "renewals.csv.gz")
        rel = self.writer.relative(path)
        header, data = self._rows_at_least("renewals", path, 1)
        # Whole extract carries an unexpected column: rows load, the column is kept aside.
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow([*header, "sales_rep_email"])
        for i, r in enumerate(data):
            out.writerow([*r, f"rep{i % 17 + 1:02d}@vendor.example.com"])
        write_bytes(path, buf.getvalue().encode("utf-8"))
        self._record("extra_column", "renewals", rel, None, "sales_rep_email",
                     "extract has an unexpected column sales_rep_email",
                     "ingest:extra_column")  # fmt: skip
        template = data[0]
        rows: list[tuple[list[str], str | None, str | None, str, str]] = []
        for _ in range(2):
            rows.append((["", *template[1:], "rep01@vendor.example.com"], "missing_key",
                         "renewal_id", "empty renewal_id", "ingest:quarantine"))  # fmt: skip
        self._append_csv("crm", "renewals", path, rows)

    def _csat(self) -> None:
        path = self._path("crm", "csat_responses", "csat_responses.csv.gz")
        header, data = self._rows_at_least("csat_responses", path, 1)
        template = dict(zip(header, data[0], strict=True))
        rows: list[tuple[list[str], str | None, str | None, str, str]] = []
        for i in range(2):
            values = {**template, "response_id": f"CS-D{i + 1:07d}", "survey_type": "csat",
                      "score": "42.0"}  # fmt: skip
            rows.append(([values[h] for h in header], "out_of_range_value", "score",
                         "csat score 42 outside 1-5", "check:value_ranges"))  # fmt: skip
        self._append_csv("crm", "csat_responses", path, rows)

        # A second file in the same extract without the required score column: rejected.
        bad = self._path("crm", "csat_responses", "csat_responses-part-0002.csv.gz")
        keep = [h for h in header if h != "score"]
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(keep)
        for i, r in enumerate(data[:5]):
            values = dict(zip(header, r, strict=True))
            values["response_id"] = f"CS-M{i + 1:07d}"
            out.writerow([values[h] for h in keep])
        write_bytes(bad, buf.getvalue().encode("utf-8"))
        self.writer.record("crm", "csat_responses", bad, len(data[:5]), loaded=False)
        self._record("missing_required_column", "csat_responses", self.writer.relative(bad),
                     None, "score", "file lacks required column score",
                     "ingest:rejected_file")  # fmt: skip

    def _portal(self) -> None:
        folder = self._path("portal", "activity_events", "x").parent
        parts = sorted(folder.glob("activity_events-part-*.jsonl.gz"))
        if not parts:  # a tiny demo can have no events left after the volume drop
            parts = [folder / "activity_events-part-0001.jsonl.gz"]
            write_bytes(parts[0], b"")
            self.writer.record("portal", "activity_events", parts[0], 0)
        last = parts[-1]
        rel = self.writer.relative(last)
        text = read_text(last)
        existing = self.writer.rows_in_file[rel]
        broken = [
            '{"event_id": "EV-D0000001", "partner_id": "P00001", "user_id": "U00001-001", '
            '"event_type": "login", "occurred_at": ',
            "event_id=EV-D0000002 partner_id=P00001 event_type=login",
        ]
        write_bytes(last, (text + "\n".join(broken) + "\n").encode("utf-8"))
        counts = self.writer.counts["portal/activity_events"]
        counts.rows_written += len(broken)
        counts.rows_expected_quarantined += len(broken)
        self.writer.rows_in_file[rel] = existing + len(broken)
        for i in range(len(broken)):
            self._record("malformed_row", "activity_events", rel, existing + i + 1, None,
                         "line is not valid JSON", "ingest:quarantine", "portal")  # fmt: skip

        # A further part whose gzip stream is cut off mid-way: the file is rejected.
        lines = text.splitlines()[:400]
        lines = [ln.replace('"event_id":"EV', '"event_id":"TR', 1) for ln in lines]
        pid = str(self.pop.partner_ids(np.array([0]))[0])
        day = self.pop.month_date(self.pop.months - 1).isoformat()
        lines += [
            f'{{"event_id":"TS{i:011d}","partner_id":"{pid}","user_id":"{pid.replace("P", "U")}'
            f'-001","event_type":"login","occurred_at":"{day}T09:00:00Z","properties":{{}}}}'
            for i in range(len(lines), 400)
        ]  # top up a tiny demo so the cut really lands inside the stream
        truncated = folder / f"activity_events-part-{len(parts) + 1:04d}.jsonl.gz"
        write_bytes(truncated, ("\n".join(lines) + "\n").encode("utf-8"))
        data = truncated.read_bytes()
        truncated.write_bytes(data[: max(len(data) * 6 // 10, 20)])
        self.writer.record("portal", "activity_events", truncated, len(lines), loaded=False)
        self._record("truncated_gzip", "activity_events", self.writer.relative(truncated), None,
                     None, "gzip stream ends early", "ingest:rejected_file", "portal")  # fmt: skip
        self._record("volume_drop", "activity_events", rel, None, None,
                     f"latest month keeps {VOLUME_DROP_FACTOR:.0%} of its normal portal events",
                     "check:volume_anomaly", "portal")  # fmt: skip

    def _lms(self) -> None:
        path = self._path("lms", "learning_records", "learning_records.parquet")
        content = (
            "record_id,learner_id,partner_id\nR1,LRN00001-001,P00001\nR2,LRN00001-002,P00001\n"
        )
        write_bytes(path, content.encode("utf-8"))
        self.writer.record("lms", "learning_records", path, 2, loaded=False)
        self._record("wrong_format", "learning_records", self.writer.relative(path), None, None,
                     ".parquet file that holds CSV text", "ingest:rejected_file",
                     "lms")  # fmt: skip

    def _unknown_entity(self) -> None:
        path = self._path("crm", "invoices", "invoices.csv")
        content = "invoice_id,partner_id,amount,currency\n"
        content += "".join(f"INV-{i:05d},P00001,{1000 + i * 10}.00,USD\n" for i in range(1, 6))
        write_bytes(path, content.encode("utf-8"))
        self.writer.files += 1
        # Not a contract entity, so it has no expected_counts entry.
        self._record("unknown_entity", "invoices", self.writer.relative(path), None, None,
                     "crm/invoices is not in the extract contract",
                     "ingest:unknown_entity")  # fmt: skip

    def _partner_encodings(self) -> None:
        pop = self.pop
        # One recent snapshot re-encoded as latin-1 (rejected; other snapshots still load) ...
        latin = self._path("crm", "partners", "partners.csv", pop.month_date(pop.months - 1))
        rel = self.writer.relative(latin)
        text = read_text(latin)
        if text.isascii():  # make sure there is an accented name to mangle
            header, rest = text.split("\n", 1)
            first, tail = rest.split(",", 2)[0], rest.split(",", 2)[2]
            text = f"{header}\n{first},Société Générale Intégration SAS,{tail}"
        latin.write_bytes(text.encode("latin-1"))
        counts = self.writer.counts["crm/partners"]
        counts.rows_expected_loaded -= self.writer.rows_in_file[rel]
        counts.files_expected_rejected += 1
        self._record("non_utf8_encoding", "partners", rel, None, "partner_name",
                     "latin-1 encoded CSV with accented partner names",
                     "ingest:rejected_file")  # fmt: skip
        # ... and an older one with a UTF-8 byte-order mark, which is valid and loads.
        if pop.months >= 3:
            bom = self._path("crm", "partners", "partners.csv", pop.month_date(pop.months - 2))
            bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes())

    def _generation_faults(self) -> None:
        pop = self.pop
        stop = pop.months - STALE_MONTHS
        last_leads = self._path("crm", "leads", "leads.csv.gz", pop.month_date(stop))
        self._record("stale_source", "leads", self.writer.relative(last_leads), None, None,
                     f"no leads extracts after {pop.month_date(stop):%Y-%m-%d} "
                     f"({STALE_MONTHS} months before the end)", "check:freshness")  # fmt: skip
        opps = self._path("crm", "opportunities", "opportunities.csv.gz")
        self._record("null_rate_shift", "opportunities", self.writer.relative(opps), None,
                     "customer_id", "customer_id null in ~85% of the latest extract",
                     "check:null_rate_shift")  # fmt: skip
