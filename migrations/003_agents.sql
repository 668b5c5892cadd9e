-- Customers' AI agents as the orchestrator (:8002) registers them. Agent tokens name an agent in
-- their act claim; this table is the orchestrator's, read here only for reference.
CREATE TABLE IF NOT EXISTS public.agents (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id  uuid        NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    parent_id    uuid        REFERENCES public.agents (id) ON DELETE CASCADE,
    status       text        NOT NULL DEFAULT 'active',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS agents_customer_id_idx ON public.agents (customer_id);
