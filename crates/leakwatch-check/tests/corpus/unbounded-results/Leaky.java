import java.util.List;

import javax.persistence.EntityManager;

@RestController
public class UserController {
    private final UserRepository repo;
    private final EntityManager em;

    @GetMapping("/users")
    public List<User> all() {
        return repo.findAll(); // expect: unbounded-results
    }

    public List<Event> events() {
        return em.createQuery("SELECT e FROM Event e", Event.class).getResultList(); // expect: unbounded-results
    }
}
