from leoweb_bot.cli import main

raise SystemExit(main())
