import sqlite3
from contextlib import closing

import psycopg2
import requests


def get_orders(dsn, user_id):
    with closing(psycopg2.connect(dsn)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT * FROM orders WHERE user_id = %s LIMIT 100", (user_id,))
        return cur.fetchall()


def save(path, row):
    db = sqlite3.connect(path)
    try:
        db.execute("INSERT INTO t VALUES (?)", (row,))
        db.commit()
    finally:
        db.close()


def checkout(pool):
    conn = pool.getconn()
    try:
        conn.cursor().execute("UPDATE stock SET n = n - 1")
    finally:
        pool.putconn(conn)


def connect(dsn):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    return conn


def download(url):
    with requests.get(url, stream=True) as resp:
        return resp.headers["content-length"]


def fetch(url):
    resp = requests.get(url)
    return resp.json()
