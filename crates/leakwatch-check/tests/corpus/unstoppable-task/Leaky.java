import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public class Handler {
    public void handle(Request r, BlockingQueue<Job> jobs) {
        Thread t = new Thread(() -> { // expect: unstoppable-task
            while (true) {
                try {
                    process(jobs.take());
                } catch (InterruptedException e) {
                    log(e);
                }
            }
        });
        t.start();
    }

    public Report build(List<Item> items) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4); // expect: unstoppable-task
        return merge(pool.invokeAll(tasks(items)));
    }
}
