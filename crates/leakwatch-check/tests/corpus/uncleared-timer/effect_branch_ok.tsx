import React, { useEffect, useState } from 'react';

// A debounced search: the timeout starts only when there is a clinic, and
// the cleanup that clears it is returned from that same branch.
export function Appointments({ clinicId, search }: { clinicId?: number; search: string }) {
  const [rows, setRows] = useState<string[]>([]);
  useEffect(() => {
    if (clinicId) {
      const timer = setTimeout(() => {
        fetch(`/api/appointments?clinic=${clinicId}&q=${search}`)
          .then((r) => r.json())
          .then(setRows);
      }, 500);
      return () => clearTimeout(timer);
    }
  }, [clinicId, search]);
  return <ul>{rows.map((r) => <li key={r}>{r}</li>)}</ul>;
}

// The same, nested one block deeper, with an early return before it.
export function LabResults({ user, search }: { user?: string; search: string }) {
  const [rows, setRows] = useState<string[]>([]);
  useEffect(() => {
    if (!user) return;
    if (search.length > 2) {
      const t = window.setTimeout(() => setRows([search]), 300);
      return () => window.clearTimeout(t);
    }
  }, [user, search]);
  return <ol>{rows.map((r) => <li key={r}>{r}</li>)}</ol>;
}
