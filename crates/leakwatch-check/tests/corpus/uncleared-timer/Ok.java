import java.util.Timer;
import java.util.TimerTask;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

public class Reminders implements AutoCloseable {
    private ScheduledExecutorService scheduler;

    public void remindOnce(User u) {
        Timer timer = new Timer();
        timer.schedule(new TimerTask() {
            public void run() {
                remind(u);
                timer.cancel();
            }
        }, 60000);
    }

    public void startHeartbeat(Peer peer) {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor();
        s.scheduleAtFixedRate(peer::ping, 0, 5, TimeUnit.SECONDS);
        this.scheduler = s;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
