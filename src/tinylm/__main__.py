from tinylm.cli import main

raise SystemExit(main())
