import javax.swing.JButton;

import com.google.common.eventbus.EventBus;

public class Session implements AutoCloseable {
    private static final EventBus BUS = new EventBus();

    public Session() {
        BUS.register(this);
    }

    @Override
    public void close() {
        BUS.unregister(this);
    }

    public void wire(JButton button) {
        button.addActionListener(e -> click());
    }

    public static void main(String[] args) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("bye")));
    }
}
