import java.util.Timer;
import java.util.TimerTask;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

public class Reminders {
    public void remindLater(User u) {
        Timer timer = new Timer(); // expect: uncleared-timer
        timer.schedule(new TimerTask() {
            public void run() {
                remind(u);
            }
        }, 60000);
    }

    public void startHeartbeat(Peer peer) {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(); // expect: uncleared-timer
        s.scheduleAtFixedRate(peer::ping, 0, 5, TimeUnit.SECONDS);
    }
}
