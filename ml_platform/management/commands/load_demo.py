"""The one-minute demo: a B2B retail project with a SQLite source, a folder of CSV and Parquet files, their
connections and two ETL jobs ready to run. Deterministic data, generated in a few seconds.
"""
import csv
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ml_platform import services
from ml_platform.models import ModelEndpoint

DEMO_PROJECT = "Demo: B2B retail"
SEED = 20240501
ANCHOR = datetime(2025, 11, 30, 23, 0, tzinfo=UTC)  # fixed, so every generation gives the same rows
SIZES = {"customers": 12_000, "products": 2_500, "orders": 300_000}
SALES_DAYS, SALES_ROWS_PER_DAY, INVENTORY_WEEKS = 30, 800, 6

INDUSTRIES = ["Hospitality", "Healthcare", "Education", "Construction", "Manufacturing", "Retail", "Logistics",
              "Public sector", "Office services", "Automotive"]
COUNTRIES = {"Poland": ["Warsaw", "Kraków", "Gdańsk", "Wrocław", "Poznań"],
             "Germany": ["Berlin", "Hamburg", "Munich", "Cologne"], "France": ["Paris", "Lyon", "Lille"],
             "Netherlands": ["Amsterdam", "Rotterdam", "Utrecht"], "Spain": ["Madrid", "Barcelona", "Valencia"],
             "Czechia": ["Prague", "Brno"], "Sweden": ["Stockholm", "Gothenburg"]}
NAME_A = ["Northern", "Blue", "Summit", "Pioneer", "Atlas", "Golden", "Green", "Silver", "Coastal", "Urban",
          "Vertex", "Prime", "Oak", "Harbor", "Polar", "Crown", "Swift", "Bright", "Granite", "Maple"]
NAME_B = ["Supply", "Foods", "Clinics", "Builders", "Hotels", "Schools", "Logistics", "Motors", "Offices",
          "Kitchens", "Labs", "Works", "Traders", "Outfitters", "Systems"]
SUFFIX = ["Ltd", "GmbH", "S.A.", "B.V.", "sp. z o.o.", "AB", "s.r.o.", "SARL", "Group", "& Co"]
CATEGORIES = {"Cleaning": (2, 60), "Office paper": (3, 40), "Coffee & tea": (5, 90), "Kitchen equipment": (40, 900),
              "Safety gear": (4, 120), "Packaging": (1, 35), "IT accessories": (8, 250), "Furniture": (60, 1200)}
ITEMS = ["Pro", "Eco", "Max", "Basic", "Plus", "Heavy-duty", "Compact", "Premium"]
STATUSES = [("delivered", 70), ("shipped", 12), ("placed", 8), ("cancelled", 6), ("returned", 4)]
CHANNELS = [("web shop", 55), ("EDI", 25), ("sales rep", 15), ("phone", 5)]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _customers(rng: random.Random):
    countries = list(COUNTRIES)
    for cid in range(1, SIZES["customers"] + 1):
        country = rng.choice(countries)
        created = ANCHOR - timedelta(days=rng.randint(30, 1500), seconds=rng.randint(0, 86_399))
        updated = min(ANCHOR, created + timedelta(days=rng.randint(0, 400)))
        segment = rng.choices(["SMB", "Mid-market", "Enterprise"], weights=[70, 24, 6])[0]
        yield (cid, f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} {rng.choice(SUFFIX)}", rng.choice(INDUSTRIES),
               country, rng.choice(COUNTRIES[country]), segment,
               round(rng.uniform(2, 50) * {"SMB": 1_000, "Mid-market": 5_000, "Enterprise": 25_000}[segment], 2),
               _iso(created), _iso(updated))


def _products(rng: random.Random):
    categories = list(CATEGORIES)
    for pid in range(1, SIZES["products"] + 1):
        category = rng.choice(categories)
        low, high = CATEGORIES[category]
        price = round(rng.uniform(low, high), 2)
        yield (pid, f"SKU-{pid:05d}", f"{category.split()[0]} {rng.choice(ITEMS)} {pid % 97 + 1}", category,
               price, round(price * rng.uniform(0.45, 0.8), 2), int(rng.random() > 0.05),
               _iso(ANCHOR - timedelta(days=rng.randint(0, 700))))


def _orders(rng: random.Random, prices: list[float]):
    span = 730 * 86_400
    for oid in range(1, SIZES["orders"] + 1):
        # Orders grow over time: sqrt skews them toward recent dates.
        ordered = ANCHOR - timedelta(seconds=int(span * (1 - rng.random() ** 0.5)))
        product = rng.randint(1, SIZES["products"])
        quantity = rng.choices([1, 2, 3, 5, 10, 20, 50], weights=[30, 20, 15, 15, 10, 7, 3])[0]
        discount = rng.choice([0, 0, 0, 0.05, 0.1, 0.15])
        unit_price = prices[product - 1]
        status = _weighted(rng, STATUSES)
        shipped = ordered + timedelta(hours=rng.randint(4, 96)) if status in ("shipped", "delivered", "returned") \
            else None
        updated = min(ANCHOR, (shipped or ordered) + timedelta(hours=rng.randint(0, 240)))
        yield (oid, rng.randint(1, SIZES["customers"]), product, quantity, unit_price, discount,
               round(quantity * unit_price * (1 - discount), 2), status, _weighted(rng, CHANNELS),
               _iso(ordered), _iso(shipped) if shipped else None, _iso(updated))


SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, company_name TEXT NOT NULL, industry TEXT, country TEXT, city TEXT,
  segment TEXT, credit_limit DECIMAL(14,2), created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, category TEXT,
  unit_price DECIMAL(12,2) NOT NULL, unit_cost DECIMAL(12,2), is_active BOOLEAN NOT NULL,
  updated_at TIMESTAMP NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
  product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL, unit_price DECIMAL(12,2) NOT NULL,
  discount DECIMAL(4,2) NOT NULL, total_amount DECIMAL(14,2) NOT NULL, status TEXT NOT NULL, channel TEXT,
  ordered_at TIMESTAMP NOT NULL, shipped_at TIMESTAMP, updated_at TIMESTAMP NOT NULL);
CREATE INDEX orders_updated_at ON orders(updated_at);
"""


def build_sqlite(path: Path) -> dict[str, int]:
    """Write the retail database from scratch (same rows every time); returns row counts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    rng = random.Random(SEED)
    con = sqlite3.connect(tmp)
    try:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        con.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?)", _customers(rng))
        products = list(_products(rng))
        con.executemany("INSERT INTO products VALUES (?,?,?,?,?,?,?,?)", products)
        con.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        _orders(rng, [p[4] for p in products]))
        con.commit()
    finally:
        con.close()
    tmp.replace(path)
    return dict(SIZES)


def build_files(root: Path) -> int:
    """Daily store-sales CSV exports and weekly inventory Parquet snapshots; returns the number of files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(SEED + 1)
    (root / "sales").mkdir(parents=True, exist_ok=True)
    (root / "inventory").mkdir(parents=True, exist_ok=True)
    first = ANCHOR.date() - timedelta(days=SALES_DAYS - 1)
    for offset in range(SALES_DAYS):
        day = first + timedelta(days=offset)
        with (root / "sales" / f"store_sales_{day.isoformat()}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["store_id", "sku", "sold_at", "quantity", "revenue"])
            for _ in range(SALES_ROWS_PER_DAY):
                sku = rng.randint(1, SIZES["products"])
                quantity = rng.randint(1, 12)
                sold = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(28_800, 75_600))
                writer.writerow([f"S{rng.randint(1, 40):03d}", f"SKU-{sku:05d}", sold.isoformat(), quantity,
                                 f"{quantity * rng.uniform(2, 300):.2f}"])
    for week in range(INVENTORY_WEEKS):
        snapshot = ANCHOR.date() - timedelta(weeks=INVENTORY_WEEKS - 1 - week)
        skus = list(range(1, SIZES["products"] + 1))
        table = pa.table({
            "sku": [f"SKU-{s:05d}" for s in skus],
            "warehouse": [rng.choice(["WAW-1", "BER-2", "AMS-1"]) for _ in skus],
            "on_hand": [rng.randint(0, 900) for _ in skus],
            "snapshot_date": pa.array([snapshot] * len(skus), type=pa.date32()),
        })
        pq.write_table(table, root / "inventory" / f"inventory_{snapshot.isoformat()}.parquet")
    return SALES_DAYS + INVENTORY_WEEKS


def _table(source: str, mode: str, **extra) -> dict:
    return {"schema_name": "main", "source_table_name": source, "dest_table_name": source, "sync_mode": mode,
            **extra}


def _file_table(dest: str, prefix: str, pattern: str, fmt: str) -> dict:
    return {"is_file_based": True, "dest_table_name": dest, "sync_mode": "append", "file_path_prefix": prefix,
            "file_pattern": pattern, "file_format": fmt}


def create_project(*, admin, database: Path, files: Path) -> ModelEndpoint:
    """The demo project, its two connections and two jobs, through the platform's own services."""
    project = services.project_create(user=admin, name=DEMO_PROJECT, description=(
        "Office-supplies wholesaler: customers, products and two years of orders in SQLite, plus daily "
        "store-sales CSV exports and weekly inventory Parquet snapshots. Press Run now on a job."))
    try:
        _connections_and_jobs(project=project, admin=admin, database=database, files=files)
    except Exception:
        project.delete()  # all or nothing: a half-made demo would block --if-missing forever
        raise
    return project


def _connections_and_jobs(*, project, admin, database: Path, files: Path) -> None:
    from ml_platform.connections.schemas import ConnectionCreate
    from ml_platform.connections.services import connection_create
    from ml_platform.etl.schemas import JobIn
    from ml_platform.etl.services import job_create

    db = connection_create(project=project, user=admin, data=ConnectionCreate(
        name="Retail database (SQLite)", source_type="sqlite", path=str(database),
        description="Customers, products and orders."))
    folder = connection_create(project=project, user=admin, data=ConnectionCreate(
        name="Store exports folder", source_type="local_files", path=str(files),
        description="CSV sales exports and Parquet inventory snapshots."))
    job_create(project=project, user=admin, data=JobIn.model_validate({
        "name": "Retail orders", "connection_id": db.pk,
        "tables": [_table("customers", "replace"), _table("products", "replace"),
                   _table("orders", "merge", incremental_column="updated_at", primary_key=["id"])],
        "schedule_config": {"schedule_type": "daily", "schedule_time": "02:00", "schedule_timezone": "UTC"}}))
    job_create(project=project, user=admin, data=JobIn.model_validate({
        "name": "Store exports", "connection_id": folder.pk,
        "tables": [_file_table("store_sales", "sales/", "*.csv", "csv"),
                   _file_table("inventory_snapshots", "inventory/", "*.parquet", "parquet")],
        "schedule_config": {"schedule_type": "hourly", "schedule_minute": 15, "schedule_timezone": "UTC"}}))


class Command(BaseCommand):
    help = "Create the demo project (SQLite retail data, CSV/Parquet files, connections, two jobs)."

    def add_arguments(self, parser):
        parser.add_argument("--if-missing", action="store_true", help="Do nothing when the demo project exists.")

    def handle(self, *args, **options):
        admin = get_user_model().objects.filter(username="admin").first()
        if admin is None:
            raise CommandError("No 'admin' user: run `python manage.py ensure_local_admin` first.")
        existing = ModelEndpoint.objects.filter(created_by=admin, name=DEMO_PROJECT).first()
        if existing and options["if_missing"]:
            self.stdout.write(f"Demo project already exists (id {existing.pk}).")
            return
        if existing:
            raise CommandError(f"The demo project exists (id {existing.pk}); delete it first or use --if-missing.")
        demo = Path(settings.PLATFORM_DATA_DIR) / "demo"
        started = datetime.now()
        counts = build_sqlite(demo / "retail.sqlite")
        files = build_files(demo / "files")
        project = create_project(admin=admin, database=demo / "retail.sqlite", files=demo / "files")
        seconds = (datetime.now() - started).total_seconds()
        rows = ", ".join(f"{n:,} {t}" for t, n in counts.items())
        self.stdout.write(self.style.SUCCESS(
            f"Demo project “{project.name}” (id {project.pk}) ready in {seconds:.1f} s: {rows}; {files} files. "
            f"Open {settings.PLATFORM_BASE_URL}/models/{project.pk}/etl/ and press Run now."))

