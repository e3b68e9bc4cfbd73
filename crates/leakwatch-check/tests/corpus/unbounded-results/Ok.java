import java.util.List;

import javax.persistence.EntityManager;

@RestController
public class UserController {
    private final UserRepository repo;
    private final EntityManager em;

    @GetMapping("/users")
    public Page<User> page(int n) {
        return repo.findAll(PageRequest.of(n, 50));
    }

    public List<Event> events() {
        return em.createQuery("SELECT e FROM Event e ORDER BY e.id DESC", Event.class).setMaxResults(100).getResultList();
    }

    public User one(long id) {
        return repo.findById(id).orElseThrow();
    }
}
