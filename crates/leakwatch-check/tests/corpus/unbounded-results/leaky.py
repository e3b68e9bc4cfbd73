from django.http import JsonResponse

from .models import Order, User


def export_orders(request):
    rows = []
    for order in Order.objects.all():  # expect: unbounded-results
        rows.append(order.as_dict())
    return JsonResponse(rows, safe=False)


def active_users(request):
    users = list(User.objects.filter(is_active=True))  # expect: unbounded-results
    return render(request, "users.html", {"users": users})


def emails(request):
    return [u.email for u in User.objects.exclude(email="")]  # expect: unbounded-results


def events(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, payload FROM events")
    return cur.fetchall()  # expect: unbounded-results
