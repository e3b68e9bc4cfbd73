import java.awt.AWTEvent;
import java.awt.Toolkit;

import com.google.common.eventbus.EventBus;

public class Session {
    private static final EventBus BUS = new EventBus();

    public Session(User user) {
        BUS.register(this); // expect: listener-leak
    }

    public void open() {
        Toolkit.getDefaultToolkit().addAWTEventListener(e -> log(e), AWTEvent.KEY_EVENT_MASK); // expect: listener-leak
        Runtime.getRuntime().addShutdownHook(new Thread(this::flush)); // expect: listener-leak
    }
}
