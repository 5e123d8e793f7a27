"""What people look at, read from Redis and the archive together: lists, graphs, timelines, logs, metrics.

Modules: ``listing`` (``list_coordinations``), ``graph`` (a
workflow as DOT or Mermaid text, coloured by status), ``graph_render`` (SVG/PNG through Graphviz), ``timeline``
(attempts and dependency waits of one coordination), ``logs`` (agent log lines and tracebacks), ``prometheus`` (a
collector reading Redis at scrape time), ``workers`` (which workers consume a queue), ``cleaning`` (a namespace's
keys and queues).
"""
