import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public class Handler {
    public void handle(Request r, BlockingQueue<Job> jobs) {
        Thread t = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    process(jobs.take());
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        t.start();
    }

    public Report build(List<Item> items) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            return merge(pool.invokeAll(tasks(items)));
        } finally {
            pool.shutdown();
        }
    }

    public Report build2(List<Item> items) throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            return merge(pool.invokeAll(tasks(items)));
        }
    }
}
