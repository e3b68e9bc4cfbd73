from .models import Order


def export_orders(request):
    for order in Order.objects.all().iterator(chunk_size=2000):
        write_row(order)


def recent(request):
    return list(Order.objects.filter(user=request.user)[:50])


def count(request):
    return Order.objects.filter(paid=True).count()


def one(request, pk):
    return Order.objects.get(pk=pk)


def events(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, payload FROM events ORDER BY id LIMIT 100")
    return cur.fetchall()


def total(conn):
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM events")
    return cur.fetchall()


def by_id(conn, event_id):
    cur = conn.cursor()
    cur.execute("SELECT * FROM events WHERE id = %s", (event_id,))
    return cur.fetchall()


def stream(conn):
    cur = conn.cursor()
    cur.execute("SELECT * FROM events")
    for row in cur:
        yield row


def tables(conn):
    cur = conn.cursor()
    cur.execute("SELECT table_name FROM information_schema.tables")
    return cur.fetchall()
