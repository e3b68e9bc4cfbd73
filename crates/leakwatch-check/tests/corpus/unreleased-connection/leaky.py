import sqlite3

import psycopg2
import requests


def get_orders(dsn, user_id):
    conn = psycopg2.connect(dsn)  # expect: unreleased-connection
    cur = conn.cursor()
    cur.execute("SELECT * FROM orders WHERE user_id = %s LIMIT 100", (user_id,))
    return cur.fetchall()


def save(path, row):
    with sqlite3.connect(path) as db:  # expect: unreleased-connection
        db.execute("INSERT INTO t VALUES (?)", (row,))


def checkout(pool):
    conn = pool.getconn()  # expect: unreleased-connection
    conn.cursor().execute("UPDATE stock SET n = n - 1")


def download(url):
    resp = requests.get(url, stream=True)  # expect: unreleased-connection
    return resp.headers["content-length"]
