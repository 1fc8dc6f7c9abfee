-- Hand-made spans for the execution tests; testdata/exec/cases.txt says
-- which of them each filter must return. Times: span sNN starts NN seconds
-- after 2024-01-01T00:00:00Z.
-- Traces and sessions carry the roll-ups the writer keeps, summed from
-- the spans below by hand.
INSERT INTO sessions (id, project_id, session_id, start_time, end_time, trace_count, prompt_tokens, completion_tokens, total_tokens, user_id, cost_total) VALUES
    (1, 1, 'sess-1', 1704067201000000000, 1704067215000000000, 2, 1750, 1075, 2825, 'u1', 0.012),
    (2, 1, 'sess-2', 1704067206000000000, 1704067214900000000, 1, 2100, 1020, 3120, 'u2', 0.05);
INSERT INTO traces (id, project_id, trace_id, session_rowid, start_time, end_time, root_span_id, span_count, error_count, llm_span_count, prompt_tokens, completion_tokens, total_tokens, cost_total, cost_prompt, cost_completion) VALUES
    (1, 1, 'trace-1', 1, 1704067201000000000, 1704067207000000000, 's01', 5, 1, 2, 1100, 450, 1550, 0.012, 0.008, 0.004),
    (2, 1, 'trace-2', 2, 1704067206000000000, 1704067214900000000, 's06', 4, 1, 2, 2100, 1020, 3120, 0.05, 0.03, 0.02),
    (3, 1, 'trace-3', 1, 1704067210000000000, 1704067215000000000, 's10', 5, 1, 2, 650, 625, 1275, 0, 0, 0),
    (4, 1, 'trace-4', NULL, 1704067215000000000, 1704067340000000000, 's15', 6, 0, 2, 10, 5, 15, 0.001, 0.0006, 0.0004);
INSERT INTO spans (id, trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time, status_code, status_message, model_name, provider, session_id, user_id, input_value, input_mime_type, output_value, output_mime_type, prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, attributes, events) VALUES
    (1, 1, 1, 's01', NULL, 'agent', 'AGENT', 1704067201000000000, 1704067207000000000, 'OK', '', NULL, NULL, 'sess-1', 'u1', 'Please process my REFUND request', 'text/plain', 'Refund issued', 'text/plain', NULL, NULL, NULL, NULL, NULL, NULL, '{"metadata":"{\"topic\":\"billing\",\"tier\":\"gold\",\"n\":3}","tag.tags":["vip","billing"],"session.id":"sess-1","user.id":"u1"}', '[]'),
    (2, 1, 1, 's02', 's01', 'ChatCompletion', 'LLM', 1704067202000000000, 1704067206500000000, 'OK', '', 'gpt-4o', 'openai', NULL, NULL, 'What is the refund policy?', NULL, 'Refunds within 30 days.', NULL, 800, 400, 1200, NULL, NULL, NULL, '{"llm.model_name":"gpt-4o","llm.input_messages.0.message.role":"system","llm.input_messages.1.message.role":"user","llm.input_messages.1.message.content":"What is the refund policy?","llm.invocation_parameters":"{\"temperature\":0.7,\"max_tokens\":512}","llm.token_count.total":1200}', NULL),
    (3, 1, 1, 's03', 's01', 'lookup_order', 'TOOL', 1704067203000000000, 1704067203100000000, 'ERROR', 'timeout after 100ms', NULL, NULL, NULL, NULL, '{"order_id": 42}', 'application/json', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"tool.name":"lookup_order","tool.parameters":"{\"type\":\"object\",\"required\":[\"order_id\"]}"}', '[{"name":"exception","attributes":{"exception.message":"timeout"}}]'),
    (4, 1, 1, 's04', 's01', 'ChatCompletion', 'LLM', 1704067204000000000, 1704067205200000000, 'OK', '', 'gpt-4o-mini', 'openai', NULL, NULL, NULL, NULL, NULL, NULL, 300, 50, 350, 100, NULL, NULL, '{"llm.is_streaming":true,"llm.input_messages.0.message.role":"user","retries":0}', NULL),
    (5, 1, 1, 's05', 's04', 'format', 'CHAIN', 1704067205000000000, 1704067205010000000, 'UNSET', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"llm.is_streaming":false,"retries":"2"}', NULL),
    (6, 2, 1, 's06', NULL, 'pipeline', 'CHAIN', 1704067206000000000, 1704067214000000000, 'UNSET', '', NULL, NULL, 'sess-2', 'u2', 'Where is my package?', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"metadata":"{\"topic\":\"shipping\",\"n\":10}"}', NULL),
    (7, 2, 1, 's07', 's06', 'claude', 'LLM', 1704067207000000000, 1704067214900000000, 'ERROR', 'rate limited', 'claude-3-5-sonnet', 'anthropic', NULL, NULL, NULL, NULL, NULL, NULL, 2000, 1000, 3000, NULL, 200, 500, '{"llm.input_messages.0.message.role":"user"}', NULL),
    (8, 2, 1, 's08', 's06', 'retrieve', 'RETRIEVER', 1704067208000000000, 1704067208250000000, 'OK', '', NULL, NULL, NULL, NULL, 'where is my package', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"retrieval.documents.0.document.score":0.9,"retrieval.documents.0.document.metadata":"{\"source\":\"faq.md\"}","retrieval.documents.1.document.score":0.4}', NULL),
    (9, 2, 1, 's09', 'ffffffffffffffff', 'orphan-llm', 'LLM', 1704067209000000000, 1704067212000000000, 'OK', '', 'gpt-4o', 'openai', NULL, NULL, NULL, NULL, NULL, NULL, 100, 20, 120, NULL, NULL, NULL, '{}', NULL),
    (10, 3, 1, 's10', NULL, 'answer', 'LLM', 1704067210000000000, 1704067215000000000, 'OK', '', 'gpt-4o', NULL, NULL, NULL, '100% off_sale today', NULL, NULL, NULL, 600, 600, 1200, NULL, NULL, NULL, '{"metadata":"not json"}', NULL),
    (11, 3, 1, 's11', 's10', 'calc', 'TOOL', 1704067211000000000, 1704067211020000000, 'OK', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"calc.result":"42","calc.value":42.5,"calc.flag":false,"calc.neg":-7}', NULL),
    (12, 3, 1, 's12', 's10', 'summarize', 'LLM', 1704067212000000000, 1704067212900000000, 'OK', '', 'gpt-4o-mini', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 50, 25, 75, NULL, NULL, NULL, '{"metadata":"{\"topic\":\"billing\",\"nested\":{\"k\":[1,2,3]},\"score\":0.25}"}', NULL),
    (13, 3, 1, 's13', 's10', 'embed', 'EMBEDDING', 1704067213000000000, 1704067213030000000, 'OK', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"we\"ird.key":"quoted","a''b":1,"pct%_key":"x"}', NULL),
    (14, 3, 1, 's14', 's10', 'guard', 'GUARDRAIL', 1704067214000000000, 1704067214015000000, 'ERROR', 'blocked: '' OR 1=1 --', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL),
    (15, 4, 1, 's15', NULL, 'flat-meta', 'LLM', 1704067215000000000, 1704067217000000000, 'OK', '', 'o1-preview', 'openai', NULL, NULL, NULL, NULL, NULL, NULL, 10, 5, 15, NULL, NULL, NULL, '{"metadata.topic":"flat-topic","metadata.n":7}', NULL),
    (16, 4, 1, 's16', 's15', 'no-model', 'LLM', 1704067216000000000, 1704067216050000000, 'OK', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"llm.token_count.total":"n/a"}', NULL),
    (17, 4, 1, 's17', 's18', 'cycle-a', 'CHAIN', 1704067217000000000, 1704067217005000000, 'OK', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 10, 0, 10, NULL, NULL, NULL, '{}', NULL),
    (18, 4, 1, 's18', 's17', 'cycle-b', 'CHAIN', 1704067218000000000, 1704067218005000000, 'OK', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 10, 0, 10, NULL, NULL, NULL, '{}', NULL),
    (19, 4, 1, 's19', 's15', 'nulls', 'CHAIN', 1704067219000000000, 1704067219000000000, 'UNSET', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"x.null":null,"x.empty":""}', NULL),
    (20, 4, 1, 's20', 's15', 'slow-retriever', 'RETRIEVER', 1704067220000000000, 1704067340000000000, 'OK', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"retrieval.documents.0.document.score":0.3}', '[{"name":"exception","attributes":{"exception.type":"ValueError"}}]');
INSERT INTO span_annotations (id, span_rowid, name, label, score, explanation, identifier) VALUES
    (1, 2, 'correctness', 'incorrect', 0.0, 'wrong policy', ''),
    (2, 2, 'hallucination', NULL, 0.2, NULL, ''),
    (3, 4, 'correctness', 'correct', 1.0, NULL, ''),
    (4, 4, 'hallucination', 'no', 0.7, NULL, ''),
    (5, 7, 'hallucination', 'yes', 0.95, NULL, ''),
    (6, 7, 'hallucination', 'no', 0.6, NULL, 'v2'),
    (7, 10, 'correctness', NULL, 0.8, 'looks right', ''),
    (8, 13, 'quote''s', 'odd', 1.0, NULL, '');
INSERT INTO trace_annotations (id, trace_rowid, name, label, score) VALUES
    (1, 2, 'user_feedback', 'thumbs_down', 0.0);
INSERT INTO trace_annotations (id, trace_rowid, name, label, score, identifier) VALUES
    (2, 1, 'user_feedback', 'thumbs_up', 1.0, 'v2');
INSERT INTO session_annotations (id, session_rowid, name, label, score) VALUES
    (1, 1, 'resolution', 'resolved', 1.0);
UPDATE spans SET cost_total = 0.008, cost_prompt = 0.006, cost_completion = 0.002 WHERE span_id = 's02';
UPDATE spans SET cost_total = 0.004, cost_prompt = 0.002, cost_completion = 0.002 WHERE span_id = 's04';
UPDATE spans SET cost_total = 0.05, cost_prompt = 0.03, cost_completion = 0.02 WHERE span_id = 's07';
UPDATE spans SET cost_total = 0.001, cost_prompt = 0.0006, cost_completion = 0.0004 WHERE span_id = 's15';
