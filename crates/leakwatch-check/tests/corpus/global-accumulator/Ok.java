import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

public class AuditLog {
    private static final Deque<String> RECENT = new ArrayDeque<>();
    private static final List<String> PENDING = new ArrayList<>();

    public void login(String user) {
        RECENT.addLast(user);
        if (RECENT.size() > 100) {
            RECENT.removeFirst();
        }
    }

    public synchronized void queue(String line) {
        PENDING.add(line);
    }

    public synchronized List<String> drain() {
        List<String> out = new ArrayList<>(PENDING);
        PENDING.clear();
        return out;
    }

    public List<String> names(List<User> users) {
        List<String> out = new ArrayList<>();
        for (User u : users) {
            out.add(u.name());
        }
        return out;
    }
}
