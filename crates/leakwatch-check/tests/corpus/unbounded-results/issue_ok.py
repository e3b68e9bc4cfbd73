import pandas as pd
from sqlalchemy import select


def user(session, uid):
    return session.query(User).filter(User.id == uid).all()


def open_orders(engine):
    chunks = pd.read_sql("SELECT * FROM orders", engine, chunksize=10_000)
    return sum(len(c) for c in chunks)


def price(conn, sku):
    cur = conn.cursor()
    cur.execute("SELECT price, currency FROM prices WHERE sku = %s", (sku,))
    return cur.fetchall()


def page(session, n):
    return session.execute(select(Item).limit(100).offset(n)).scalars().all()


def recent(session):
    return session.query(User).order_by(User.id.desc()).limit(20).all()
