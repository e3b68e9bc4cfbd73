import pandas as pd
from sqlalchemy import select


def active_users(session):
    users = session.query(User).all()  # expect: unbounded-results
    return [u for u in users if u.active]


def open_orders(engine):
    df = pd.read_sql("SELECT * FROM orders", engine)  # expect: unbounded-results
    return df[df.status == "open"]


def audit(engine):
    return pd.read_sql_table("audit_log", engine)  # expect: unbounded-results


def all_rows(conn):
    cur = conn.cursor()
    cur.execute("""
        SELECT id, name, email
        FROM customers
    """)
    return cur.fetchall()  # expect: unbounded-results


def every_item(session):
    return session.execute(select(Item)).scalars().all()  # expect: unbounded-results
