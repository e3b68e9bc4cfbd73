import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

public class AuditLog {
    private static final List<String> ENTRIES = new ArrayList<>();
    private static final Set<Long> PROCESSED = new HashSet<>();

    public void login(String user) {
        ENTRIES.add(user + " logged in"); // expect: global-accumulator
    }

    public void process(Order order) {
        PROCESSED.add(order.id()); // expect: global-accumulator
        ship(order);
    }
}
