#!/usr/bin/env python3
"""W8 of the comparison: SQLAlchemy 2.x's polymorphic load of joined-table inheritance,
the same workload as dbridge-bench's W8 (bench/src/poly.rs).

  W8  load 100,000 employees (half engineers, half managers; joined-table inheritance,
      a discriminator column) as instances of their classes, two ways:
        inline:   session.scalars(select(with_polymorphic(Employee, "*"))).all()
        selectin: the base's rows, then one SELECT per subclass (selectin_polymorphic)
      -> rows/s

One JSON line per workload on stdout, as ../shared/bench/sqla_bench.py:
  {"workload": "W8_polymorphic_inline", "metric": "rows_per_s", "value": <median>, ...}

Usage: sqla_polymorphic.py [--url postgresql://postgres@127.0.0.1:5432/test] [--quick] [--reps 3]
"""
import argparse
import gc
import json
import statistics
import sys
import time

import sqlalchemy
from sqlalchemy import ForeignKey, Integer, Text, create_engine, select, text
from sqlalchemy.orm import (DeclarativeBase, Mapped, Session, mapped_column,
                            selectin_polymorphic, with_polymorphic)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


class Base(DeclarativeBase):
    pass


class Employee(Base):
    __tablename__ = "sqla_employee"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "employee"}


class Engineer(Employee):
    __tablename__ = "sqla_engineer"
    id: Mapped[int] = mapped_column(ForeignKey("sqla_employee.id"), primary_key=True)
    language: Mapped[str] = mapped_column(Text)
    __mapper_args__ = {"polymorphic_identity": "engineer"}


class Manager(Employee):
    __tablename__ = "sqla_manager"
    id: Mapped[int] = mapped_column(ForeignKey("sqla_employee.id"), primary_key=True)
    budget: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"polymorphic_identity": "manager"}


def sqla_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def setup(engine, n: int) -> None:
    """The same rows as dbridge-bench's W8 (poly.rs, fill_sql), not timed."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sqla_employee (id, name, kind) SELECT g, 'employee' || g, "
            f"CASE WHEN g % 2 = 1 THEN 'engineer' ELSE 'manager' END FROM generate_series(1, {n}) g"))
        conn.execute(text("INSERT INTO sqla_engineer (id, language) "
                          "SELECT id, 'rust' FROM sqla_employee WHERE kind = 'engineer'"))
        conn.execute(text("INSERT INTO sqla_manager (id, budget) "
                          "SELECT id, id FROM sqla_employee WHERE kind = 'manager'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for t in ("sqla_employee", "sqla_engineer", "sqla_manager"):
            conn.execute(text(f"VACUUM ANALYZE {t}"))


def load(engine, selectin: bool, n: int) -> float:
    with Session(engine) as s:
        t0 = time.perf_counter()
        if selectin:
            stmt = select(Employee).options(selectin_polymorphic(Employee, [Engineer, Manager]))
        else:
            stmt = select(with_polymorphic(Employee, "*"))
        objs = s.scalars(stmt).all()
        elapsed = time.perf_counter() - t0
        engineers = sum(1 for o in objs if isinstance(o, Engineer) and o.language)
        managers = sum(1 for o in objs if isinstance(o, Manager) and o.budget is not None)
        assert len(objs) == n and engineers + managers == n, (len(objs), engineers, managers)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--quick", action="store_true", help="a tenth of the rows")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    n = 100_000 // (10 if args.quick else 1)
    print(f"# sqlalchemy {sqlalchemy.__version__}, python {sys.version.split()[0]}, "
          f"W8 n={n}, reps {args.reps}", file=sys.stderr)
    engine = create_engine(sqla_url(args.url))
    setup(engine, n)
    for name, selectin in (("W8_polymorphic_inline", False), ("W8_polymorphic_selectin", True)):
        samples = []
        for _ in range(args.reps):
            gc.collect()
            samples.append(n / load(engine, selectin, n))
        print(json.dumps({"workload": name, "metric": "rows_per_s",
                          "value": round(statistics.median(samples), 3),
                          "samples": [round(x, 3) for x in samples], "n": n}), flush=True)
    Base.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
